using D8.Orchestrator.Configuration;
using D8.Orchestrator.Hosting;
using D8.Orchestrator.Leadership;
using D8.Orchestrator.Tls;

if (HealthProbe.IsRequested(args)) return await HealthProbe.RunAsync(tryHttps: true);
if (JoinTokenCommand.IsRequested(args)) return JoinTokenCommand.Run(args);

// A bad environment (port taken, data folder not writable, database in use, unreadable certificate, invalid D8_*
// setting) ends with one line and exit code 2 (StartupFailure).
return await StartupFailure.RunAsync("d8-orchestrator", async () =>
{
    var builder = WebApplication.CreateBuilder(args);
    // With a shared store (D8_STORE=postgres) only the holder of the leader lease serves: until this process takes
    // it, it is a standby; the engine and the stores below are built only once it is active.
    var settings = new SettingsReader(builder.Configuration);
    var options = OrchestratorOptions.Load(settings, builder.Environment.IsDevelopment(), []);
    var leadership = LeadershipOptions.Load(settings, options, TlsOptions.Load(settings, options.DbPath).Enabled);
    settings.ThrowIfInvalid();
    await using var standby = leadership is null ? null : await StandbyServer.WaitForLeaseAsync(args, leadership);
    if (standby is { Lease: null }) return 0; // asked to stop while standby
    builder.AddServiceDefaults();
    if (standby?.Lease is { } held) builder.AddLeadership(held);
    builder.AddOrchestrator();
    builder.AddStopWait();

    var app = builder.Build();
    try
    {
        app.MapOrchestrator();
        if (standby is not null) await standby.HandOverAsync(app);
        await app.RunAsync();
    }
    finally
    {
        await app.DisposeAsync();
    }
    if (standby?.Lease is not { } lease) return 0;
    if (lease.Deposed) return LeadershipHosting.DeposedExitCode;
    // Every write is durable now: hand the lease over at once instead of letting the standby wait for its expiry.
    await lease.ReleaseAsync(CancellationToken.None);
    return 0;
});

/// <summary>Entry point marker for WebApplicationFactory.</summary>
public partial class Program;
