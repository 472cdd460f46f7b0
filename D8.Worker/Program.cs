using D8.Worker.Hosting;

if (HealthProbe.IsRequested(args)) return await HealthProbe.RunAsync();

var builder = WebApplication.CreateBuilder(args);
if (!builder.AddWorker())
{
    return 2;
}
var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
// 3 when the orchestrator's certificate was refused (OrchestratorTrustGuard).
return Environment.ExitCode;
