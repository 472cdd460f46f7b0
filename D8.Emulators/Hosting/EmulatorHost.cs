using System.Text.Json;
using D8.Emulators.Faults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace D8.Emulators.Hosting;

/// <summary>Shared plumbing: a slim ASP.NET Core app on a free loopback port that records every request.</summary>
public abstract class EmulatorHost : IAsyncDisposable
{
    private const string RecordedKey = "d8.emulator.request";
    private WebApplication? _app;
    private string? _baseUrl;

    /// <summary>Creates an emulator using <paramref name="timeProvider"/> for timestamps and delays.</summary>
    protected EmulatorHost(TimeProvider timeProvider) => Time = timeProvider;

    /// <summary>Clock for timestamps and token delays.</summary>
    protected TimeProvider Time { get; }

    /// <summary>Every request received, with awaitable arrival signals.</summary>
    public RequestLog Requests { get; } = new();

    /// <summary>Faults applied to the emulator's generation endpoint (chat), one per request.</summary>
    public FaultQueue Faults { get; } = new();

    /// <summary><c>http://127.0.0.1:port</c> (no trailing slash); available after start.</summary>
    public string BaseUrl => _baseUrl ?? throw new InvalidOperationException("The emulator has not been started.");

    /// <summary><see cref="BaseUrl"/> as a <see cref="Uri"/>.</summary>
    public Uri BaseUri => new(BaseUrl);

    /// <summary>Shorthand for <see cref="FaultQueue.Enqueue"/> on <see cref="Faults"/>.</summary>
    public void Enqueue(Fault fault) => Faults.Enqueue(fault);

    /// <summary>Shorthand for <see cref="FaultQueue.SetSticky"/> on <see cref="Faults"/>.</summary>
    public void SetStickyFault(Fault? fault) => Faults.SetSticky(fault);

    /// <summary>Completes when a request matching <paramref name="match"/> has arrived (already-received ones count).</summary>
    public Task<RecordedRequest> WaitForRequestAsync(Func<RecordedRequest, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Requests.WaitForAsync(match, timeout, cancellationToken);

    /// <summary>Completes when a request whose path ends with <paramref name="pathSuffix"/> has arrived.</summary>
    public Task<RecordedRequest> WaitForRequestAsync(string pathSuffix, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Requests.WaitForAsync(r => r.Path.EndsWith(pathSuffix, StringComparison.Ordinal), timeout, cancellationToken);

    /// <summary>Cancelled when the emulator stops, so hanging handlers let go.</summary>
    protected CancellationToken Stopping { get; private set; }

    /// <summary>Maps the provider's endpoints.</summary>
    protected abstract void MapEndpoints(WebApplication app);

    /// <summary>Binds <paramref name="listenUrl"/> (default: a free loopback port) and starts serving.</summary>
    protected async Task StartCoreAsync(CancellationToken cancellationToken, string listenUrl = "http://127.0.0.1:0")
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = GetType().Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.WebHost.UseUrls(listenUrl);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

        var app = builder.Build();
        Stopping = app.Lifetime.ApplicationStopping;
        app.Use(RecordAsync);
        MapEndpoints(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _baseUrl = address.TrimEnd('/');
    }

    /// <summary>The request as recorded by the logging middleware.</summary>
    protected static RecordedRequest Recorded(HttpContext context) => (RecordedRequest)context.Items[RecordedKey]!;

    /// <summary>A token that fires when the client aborts or the emulator stops.</summary>
    protected CancellationToken Aborted(HttpContext context)
    {
        var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, Stopping);
        context.Response.RegisterForDispose(linked);
        return linked.Token;
    }

    /// <summary>Waits until the client gives up or the emulator stops, sending nothing.</summary>
    protected async Task HangAsync(HttpContext context)
    {
        var token = Aborted(context);
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (token.Register(() => released.TrySetResult()))
        {
            await released.Task.ConfigureAwait(false);
        }
        context.Abort();
    }

    /// <summary>Flushes what was written, lets it reach the client, then cuts the connection without a proper end.</summary>
    protected async Task DropAsync(HttpContext context, Fault fault)
    {
        try
        {
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            await TokenDelayAsync(fault.DropGrace, Aborted(context)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client left first: nothing to cut.
        }
        context.Abort();
    }

    /// <summary>
    /// Paces an answer's tokens against the clock: token n is due n intervals after the first call, so timer slack
    /// does not add up over a long answer (a 300 tokens/s emulator answers 200 tokens in 0.67 s, not 0.67 s plus
    /// 200 timer overshoots).
    /// </summary>
    protected sealed class TokenPacer(TimeProvider time, TimeSpan delay)
    {
        private readonly long _start = time.GetTimestamp();
        private int _tokens;

        /// <summary>Waits until the next token is due (no-op for a zero interval).</summary>
        public Task NextAsync(CancellationToken cancellationToken)
        {
            if (delay <= TimeSpan.Zero) return Task.CompletedTask;
            _tokens++;
            var due = delay * _tokens - time.GetElapsedTime(_start);
            return due > TimeSpan.Zero ? Task.Delay(due, time, cancellationToken) : Task.CompletedTask;
        }
    }

    /// <summary>A pacer for one answer at <paramref name="delay"/> per token.</summary>
    protected TokenPacer Pace(TimeSpan delay) => new(Time, delay);

    /// <summary>Waits one token interval (no-op for zero).</summary>
    protected Task TokenDelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(delay, Time, cancellationToken);

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var body = "";
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            using var reader = new StreamReader(request.Body);
            body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        }
        context.Items[RecordedKey] = Requests.Add(seq => new RecordedRequest(
            seq,
            Time.GetUtcNow(),
            request.Method,
            request.Path.Value ?? "/",
            request.Headers["traceparent"].FirstOrDefault(),
            request.Headers.Authorization.Count > 0,
            ModelOf(body),
            body));
        await next(context).ConfigureAwait(false);
    }

    private static string? ModelOf(string body)
    {
        if (body.Length == 0) return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
            foreach (var name in (ReadOnlySpan<string>)["model", "name"])
            {
                if (doc.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                    return value.GetString();
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Stops the server (hanging requests are released) and frees the port.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
        GC.SuppressFinalize(this);
    }
}
