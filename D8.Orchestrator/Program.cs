using D8.Orchestrator.Hosting;
using D8.Orchestrator.Tls;

if (HealthProbe.IsRequested(args)) return await HealthProbe.RunAsync(tryHttps: true);
if (JoinTokenCommand.IsRequested(args)) return JoinTokenCommand.Run(args);

// A bad environment (port taken, data folder not writable, database in use, unreadable certificate, invalid D8_*
// setting) ends with one line and exit code 2 (StartupFailure).
return await StartupFailure.RunAsync("d8-orchestrator", async () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddServiceDefaults();
    builder.AddOrchestrator();
    builder.AddStopWait();

    var app = builder.Build();
    app.MapOrchestrator();
    await app.RunAsync();
    return 0;
});

/// <summary>Entry point marker for WebApplicationFactory.</summary>
public partial class Program;
