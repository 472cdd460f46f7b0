using System.Net;

namespace D8.Contracts;

/// <summary>
/// Follows the active orchestrator among several (<c>D8_ORCHESTRATOR_URL=https://a:8080,https://b:8080</c>, all
/// sharing one PostgreSQL database): requests go to the one that answered last; a standby's 503 (<c>X-D8-Role</c>)
/// sends the request on to the URL it names in <c>X-D8-Active</c> (when that is one of ours) or to the next one, and a
/// connection that cannot be opened tries the next one. The request is resent only when the one it reached did not
/// act on it (a standby's refusal, no connection); a request cut off midway fails as before — the caller's own retry
/// then starts at the next URL. With one URL it only passes requests through.
/// </summary>
public sealed class ActiveOrchestratorHandler : DelegatingHandler
{
    /// <summary>Header a standby (or deposed) orchestrator names its role in.</summary>
    public const string RoleHeader = "X-D8-Role";

    /// <summary>Header naming the active orchestrator's URL.</summary>
    public const string ActiveHeader = "X-D8-Active";

    private readonly Uri[] _urls;
    private int _current;

    /// <summary>Follows <paramref name="urls"/> (base URLs; requests must be addressed under the first one).</summary>
    public ActiveOrchestratorHandler(IReadOnlyList<Uri> urls)
    {
        if (urls.Count == 0) throw new ArgumentException("At least one orchestrator URL is needed.", nameof(urls));
        _urls = [.. urls.Select(u => new Uri(u.ToString().TrimEnd('/') + "/"))];
    }

    /// <summary>The URL requests go to now.</summary>
    public Uri Current => _urls[Volatile.Read(ref _current)];

    /// <summary>Splits a comma-separated list of orchestrator URLs; null with the reason when one is not an http(s) URL.</summary>
    public static IReadOnlyList<Uri>? ParseList(string? text, out string? error)
    {
        error = null;
        var urls = new List<Uri>();
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                error = $"'{part}' is not an absolute http(s) URL";
                return null;
            }
            urls.Add(url);
        }
        if (urls.Count == 0) error = "no URL given";
        return error is null ? urls : null;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_urls.Length == 1 || request.RequestUri is not { IsAbsoluteUri: true } original || RelativePart(original) is not { } relative)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        // Buffered once, so the same body can go to the next orchestrator.
        if (request.Content is not null) await request.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        for (var hop = 0; ; hop++)
        {
            var index = Volatile.Read(ref _current);
            request.RequestUri = new Uri(_urls[index], relative);
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
                                                 && hop < 2 * _urls.Length - 1)
            {
                // Nothing was sent: the next one may be the active one.
                Move(index, (index + 1) % _urls.Length);
                continue;
            }
            catch (HttpRequestException)
            {
                // Cut off midway (it may have acted) or out of URLs: the caller decides; its next call tries the next one.
                Move(index, (index + 1) % _urls.Length);
                throw;
            }
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || !IsStandby(response) || hop >= 2 * _urls.Length - 1)
            {
                return response;
            }
            var next = ActiveIndex(response) ?? (index + 1) % _urls.Length;
            if (next == index) next = (index + 1) % _urls.Length;
            Move(index, next);
            response.Dispose();
        }
    }

    private void Move(int from, int to) => Interlocked.CompareExchange(ref _current, to, from);

    private static bool IsStandby(HttpResponseMessage response) =>
        response.Headers.TryGetValues(RoleHeader, out var roles) && roles.Any(r => r is "standby" or "deposed" or "loading");

    /// <summary>The index of the URL the standby names as active, when it is one of ours (same scheme, host and port).</summary>
    private int? ActiveIndex(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues(ActiveHeader, out var values)
            || !Uri.TryCreate(values.FirstOrDefault(), UriKind.Absolute, out var active)) return null;
        for (var i = 0; i < _urls.Length; i++)
        {
            if (Uri.Compare(_urls[i], active, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0) return i;
        }
        return null;
    }

    /// <summary>The path and query below whichever of our base URLs the request is addressed to, or null (not ours).</summary>
    private string? RelativePart(Uri original)
    {
        var text = original.ToString();
        foreach (var url in _urls)
        {
            var prefix = url.ToString();
            if (text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return text[prefix.Length..];
        }
        return null;
    }
}
