using D8.Worker.Hosting;

if (HealthProbe.IsRequested(args)) return await HealthProbe.RunAsync();

var builder = WebApplication.CreateBuilder(args);
// 2: invalid configuration; 4: a credential would cross the network over plain HTTP.
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
