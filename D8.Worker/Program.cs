using D8.Worker.Hosting;

if (HealthProbe.IsRequested(args)) return await HealthProbe.RunAsync();

// A bad environment (port taken, invalid configuration, and the plain-HTTP refusal AddWorker reports itself) ends with
// one line and a non-zero exit code (StartupFailure: 2), never a stack trace.
return await StartupFailure.RunAsync("d8-worker", async () =>
{
    // The slim builder: no IIS, HTTPS configuration, QUIC, regex route constraints or extra log providers, which an
    // idle worker would otherwise keep loaded and compiled (idle RSS, see the worker benchmark).
    var builder = WebApplication.CreateSlimBuilder(args);
    // 4: a credential would cross the network over plain HTTP (invalid configuration throws: exit code 2).
    var refused = builder.AddWorker();
    if (refused != 0)
    {
        return refused;
    }
    var app = builder.Build();
    app.MapDefaultEndpoints();
    await app.RunAsync();
    // 3 when the orchestrator's certificate was refused, 4 when its http:// port speaks TLS (OrchestratorTrustGuard).
    return Environment.ExitCode;
});
