using D8.Worker.Hosting;

if (HealthProbe.IsRequested(args)) return await HealthProbe.RunAsync();

// A bad environment (invalid D8_* setting, port taken) ends with one line and exit code 2 (StartupFailure).
return await StartupFailure.RunAsync("d8-worker", async () =>
{
    // The slim builder: no IIS, HTTPS configuration, QUIC, regex route constraints or extra log providers, which an
    // idle worker would otherwise keep loaded and compiled (idle RSS, see the worker benchmark).
    var builder = WebApplication.CreateSlimBuilder(args);
    if (!builder.AddWorker())
    {
        return StartupFailure.ExitCode;
    }
    var app = builder.Build();
    app.MapDefaultEndpoints();
    await app.RunAsync();
    // 3 when the orchestrator's certificate was refused (OrchestratorTrustGuard).
    return Environment.ExitCode;
});
