using System.Globalization;
using System.Text.Json;
using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Http;
using D8.Orchestrator.Tls;
using Npgsql;

namespace D8.Orchestrator.Leadership;

/// <summary>
/// A standby orchestrator: while another process holds the leader lease it serves only its role. <c>/health</c> and
/// <c>/alive</c> answer 200 with role <c>standby</c> and the active one's URL; every other request (client API, worker
/// protocol, <c>/v1</c>) answers 503 with <c>Retry-After</c>, the active URL in the <c>X-D8-Active</c> header and in the
/// problem (<c>active_url</c>), so clients given several URLs go there. Nothing of the engine or the stores exists
/// yet: they are built once the lease is taken, loading the live state the way a restart does.
/// </summary>
public sealed partial class StandbyServer
{
    /// <summary>Header naming the active orchestrator's URL (on a standby's answers and on /health).</summary>
    public const string ActiveHeader = Contracts.ActiveOrchestratorHandler.ActiveHeader;

    /// <summary>Header naming the answering orchestrator's role on /health: active or standby.</summary>
    public const string RoleHeader = Contracts.ActiveOrchestratorHandler.RoleHeader;

    private readonly LeaderLease _lease;
    private WebApplication? _app;
    private TimeProvider _time = TimeProvider.System;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private volatile LeaderInfo? _active;
    private volatile string? _problem;
    private volatile bool _loading;

    private StandbyServer(LeaderLease lease) => _lease = lease;

    /// <summary>The lease, held once taken; null when the process was asked to stop while standby (a clean exit).</summary>
    public LeaderLease? Lease { get; private set; }

    /// <summary>
    /// Takes the lease when it is free; otherwise serves as standby on this process's addresses until it can, or until
    /// the process is asked to stop (then <see cref="Lease"/> is null). A taken lease leaves the standby answering
    /// (503, retry) until <see cref="HandOverAsync"/>, so the addresses stay served while the live state loads.
    /// </summary>
    public static async Task<StandbyServer> WaitForLeaseAsync(string[] args, LeadershipOptions options)
    {
        var standby = new StandbyServer(new LeaderLease(options));
        try
        {
            try
            {
                await standby._lease.EnsureSchemaAsync(CancellationToken.None);
                if (await standby._lease.TryAcquireAsync(CancellationToken.None) is not null)
                {
                    standby.Lease = standby._lease;
                    return standby;
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
            {
                // Worded as the store's own refusal: the lease is the first thing this process asks the server for.
                var where = new NpgsqlConnectionStringBuilder(options.ConnectionString);
                var why = (e is PostgresException pg ? pg.MessageText : e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" ").TrimEnd('.');
                throw StartupFailure.Refusal($"cannot use the PostgreSQL database {where.Database ?? where.Username} on {where.Host}:{where.Port} " +
                    $"({why}): check D8_POSTGRES and that the server runs and accepts this login.", e);
            }
            await standby.ServeUntilTakenAsync(args);
            return standby;
        }
        catch
        {
            await standby.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Loads the active app's engine and stores (the live state, as a restart does), then stops answering as standby
    /// so the active app can take the addresses. Returns how long the load took.
    /// </summary>
    public async Task<TimeSpan> HandOverAsync(WebApplication active)
    {
        var start = _time.GetTimestamp();
        GC.KeepAlive(active.Services.GetRequiredService<Scheduling.SchedulingEngine>());
        var loaded = _time.GetElapsedTime(start);
        await StopStandbyAsync();
        return loaded;
    }

    /// <summary>Stops the standby app (if still running) and releases the lease's connections.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopStandbyAsync();
        await _lease.DisposeAsync();
    }

    private async Task StopStandbyAsync()
    {
        if (_app is not { } app) return;
        _app = null;
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }

    private async Task ServeUntilTakenAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        var warnings = new List<string>();
        // Same addresses and the same certificate as the active app will have: clients pinning the CA reach us too.
        var settings = new SettingsReader(builder.Configuration);
        var options = OrchestratorOptions.Load(settings, builder.Environment.IsDevelopment(), warnings);
        var tls = TlsOptions.Load(settings, options.DbPath);
        settings.ThrowIfInvalid();
        builder.AddOrchestratorTls(tls, options, warnings);
        // Refusals go through the same problem-details path as the active app's (OpenAI's shape under /v1).
        builder.Services.AddD8ProblemDetails();
        var app = builder.Build();
        _app = app;
        _time = app.Services.GetRequiredService<TimeProvider>();
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<StandbyServer>();
        app.MapMethods("/health", ["GET", "HEAD"], HealthAsync);
        app.MapMethods("/alive", ["GET", "HEAD"], HealthAsync);
        // Every other route and method, file-like paths included (MapFallback's default pattern skips those).
        app.MapFallback("{**path}", RefuseAsync);
        await app.StartAsync();
        LogStandby(_lease.Options.Holder, _lease.Options.PublicUrl);
        if (await WatchAsync(app.Lifetime.ApplicationStopping))
        {
            Lease = _lease;
            _loading = true;
            _active = null;
        }
        else
        {
            await StopStandbyAsync();
        }
    }

    /// <summary>Tries to take the lease each time it may have expired; true once taken, false when stopped.</summary>
    private async Task<bool> WatchAsync(CancellationToken stopping)
    {
        var options = _lease.Options;
        while (!stopping.IsCancellationRequested)
        {
            var wait = options.RenewInterval;
            try
            {
                if (await _lease.TryAcquireAsync(stopping) is { } term)
                {
                    LogTaken(term, _active?.Holder ?? "nobody");
                    return true;
                }
                if (await _lease.ReadAsync(stopping) is { } active)
                {
                    if (_active?.Term != active.Term) LogActive(active.Url, active.Term);
                    _active = active;
                    // Wake just after the holder's lease would expire, or at the renewal pace, whichever is sooner.
                    var untilExpiry = active.Remaining + TimeSpan.FromMilliseconds(50);
                    wait = untilExpiry < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : untilExpiry < wait ? untilExpiry : wait;
                }
                _problem = null;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
            {
                _problem = "PostgreSQL unreachable: " + e.Message;
                LogUnreachable(e.Message);
            }
            try
            {
                await Task.Delay(wait, _time, stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return false;
    }

    private async Task HealthAsync(HttpContext context)
    {
        var active = _active;
        context.Response.Headers[RoleHeader] = _loading ? "loading" : "standby";
        if (active is not null) context.Response.Headers[ActiveHeader] = active.Url;
        context.Response.StatusCode = _problem is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        if (HttpMethods.IsHead(context.Request.Method)) return;
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", _problem is null ? "Healthy" : "Unhealthy");
        json.WriteString("role", _loading ? "loading" : "standby");
        json.WriteString("active_url", active?.Url);
        json.WriteNumber("active_term", active?.Term ?? 0);
        if (_problem is not null) json.WriteString("problem", _problem);
        json.WriteEndObject();
    }

    private async Task RefuseAsync(HttpContext context)
    {
        var active = _active;
        // Retry once the active one's lease could have expired (at least a second): by then one of us is active.
        var retry = Math.Max(1, (int)Math.Ceiling(Math.Min(active?.Remaining.TotalSeconds ?? 1, _lease.Options.LeaseDuration.TotalSeconds)));
        context.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers[RoleHeader] = _loading ? "loading" : "standby";
        var detail = _loading
            ? "This orchestrator took the leader lease and is loading the live state; retry shortly."
            : active is null
            ? "This orchestrator is a standby and no orchestrator is active right now; retry shortly."
            : $"This orchestrator is a standby; the active one is {active.Url}.";
        if (active is not null) context.Response.Headers[ActiveHeader] = active.Url;
        if (Gateway.OpenAiErrors.IsOpenAiPath(context.Request.Path))
        {
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Standby", detail);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = Problems.ContentType;
        var problem = Problems.Create(StatusCodes.Status503ServiceUnavailable, "Standby", detail, context.Request.Path) with { ActiveUrl = active?.Url };
        await JsonSerializer.SerializeAsync(context.Response.Body, problem, D8JsonContext.Default.Problem, context.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Standby ({Holder}, {Url}): another orchestrator holds the leader lease; answering 503 with its URL until its lease expires")]
    private partial void LogStandby(string holder, string url);

    [LoggerMessage(Level = LogLevel.Information, Message = "Active orchestrator is {Url} (term {Term})")]
    private partial void LogActive(string url, long term);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Took the leader lease (term {Term}) from {Previous}, whose lease expired: loading the live state")]
    private partial void LogTaken(long term, string previous);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Standby cannot read the leader lease: {Error}")]
    private partial void LogUnreachable(string error);
}
