using System.Security.Claims;
using System.Text.Encodings.Web;
using D8.Contracts.Trust;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace D8.Orchestrator.Security;

/// <summary>
/// Authenticates one of the three credentials (the scheme name says which). Secrets are compared as SHA-256 hashes
/// in constant time; a failed challenge answers 401 with problem details. Wrong API keys and join secrets are counted
/// per scheme and client address (<see cref="FailedCredentialLimiter"/>); an address over the limit gets 429 with
/// Retry-After for that scheme instead. Worker tokens are never throttled (they are not guessable).
/// </summary>
public sealed class CredentialHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    CredentialHashes hashes,
    WorkerCredentials workers,
    FailedCredentialLimiter limiter)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ReadCredential(Request, Scheme.Name is AuthSchemes.ApiKey or AuthSchemes.WorkerOrApiKey);
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var address = Context.Connection.RemoteIpAddress;
        var scheme = Scheme.Name;
        // Worker tokens first and never throttled: 256 random bits are not guessable, and a guesser at a worker's
        // address must not make its heartbeats, leases or reports fail.
        if (scheme is AuthSchemes.WorkerToken or AuthSchemes.WorkerOrApiKey && workers.Authenticate(presented) is { } workerId)
        {
            return Success([new Claim(AuthSchemes.WorkerIdClaim, workerId)]);
        }
        if (scheme == AuthSchemes.WorkerToken)
        {
            return Task.FromResult(AuthenticateResult.Fail("invalid credential"));
        }
        var counted = scheme == AuthSchemes.WorkerOrApiKey ? AuthSchemes.ApiKey : scheme;
        if (limiter.Blocked(counted, address) is { } wait)
        {
            Context.Items[RetryAfterKey] = wait;
            return Task.FromResult(AuthenticateResult.Fail("too many failed credentials"));
        }
        if (scheme == AuthSchemes.JoinToken)
        {
            // The whole pinned token (D8J1-<pin>::<secret>) is accepted as well as its secret.
            presented = JoinToken.SecretOf(presented);
        }
        var matches = counted == AuthSchemes.JoinToken
            ? TokenHasher.MatchesAny(presented, hashes.JoinToken)
            : TokenHasher.MatchesAny(presented, hashes.ApiKeys);
        if (!matches)
        {
            limiter.RecordFailure(counted, address);
            return Task.FromResult(AuthenticateResult.Fail("invalid credential"));
        }
        return Success([]);
    }

    private Task<AuthenticateResult> Success(List<Claim> claims) =>
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(
            new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name)), Scheme.Name)));

    private const string RetryAfterKey = "d8:auth-retry-after";

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items[RetryAfterKey] is TimeSpan wait)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.WriteAsync(Context, StatusCodes.Status429TooManyRequests, "Too Many Requests",
                $"Too many wrong credentials from this address: try again in {seconds} s.");
        }
        var what = Scheme.Name switch
        {
            AuthSchemes.JoinToken => "the join token (Authorization: Bearer <D8_JOIN_TOKEN>)",
            AuthSchemes.WorkerToken => "a worker token from registration (Authorization: Bearer <token>); register again if the orchestrator forgot you",
            AuthSchemes.WorkerOrApiKey => "the worker's own token (to leave) or an API key (to revoke it)",
            _ => "an API key (Authorization: Bearer <key> or X-Api-Key)",
        };
        Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "Unauthorized",
            $"This endpoint needs {what}.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.WriteAsync(Context, StatusCodes.Status403Forbidden, "Forbidden", "These credentials may not call this endpoint.");

    private static string? ReadCredential(HttpRequest request, bool allowApiKeyHeader)
    {
        var auth = request.Headers.Authorization.ToString();
        if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = auth["Bearer ".Length..].Trim();
            return token.Length > 0 ? token : null;
        }
        if (allowApiKeyHeader && request.Headers.TryGetValue("X-Api-Key", out var key) && key.ToString() is { Length: > 0 } k)
        {
            return k;
        }
        return null;
    }
}

/// <summary>Hashes of the configured API keys and join token, computed once.</summary>
public sealed class CredentialHashes(OrchestratorOptions options)
{
    public IReadOnlyList<byte[]> ApiKeys { get; } = options.ApiKeys.Select(TokenHasher.HashBytes).ToArray();
    /// <summary>The join secret's hash: D8_JOIN_TOKEN may be the bare secret or the whole pinned token.</summary>
    public IReadOnlyList<byte[]> JoinToken { get; } =
        [TokenHasher.HashBytes(D8.Contracts.Trust.JoinToken.TryParse(options.JoinToken, out var t, out _) ? t.Secret : options.JoinToken)];
}
