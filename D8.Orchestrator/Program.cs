using D8.Orchestrator.Hosting;
using D8.Orchestrator.Tls;

if (HealthProbe.IsRequested(args)) return await HealthProbe.RunAsync(tryHttps: true);
if (JoinTokenCommand.IsRequested(args)) return JoinTokenCommand.Run(args);

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddOrchestrator();
builder.AddStopWait();

var app = builder.Build();
app.MapOrchestrator();
app.Run();
return 0;

/// <summary>Entry point marker for WebApplicationFactory.</summary>
public partial class Program;
