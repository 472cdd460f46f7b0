using D8.Orchestrator.Tasks;
using D8.Orchestrator.Workers;

if (D8.Orchestrator.Health.HealthProbe.IsRequested(args)) return await D8.Orchestrator.Health.HealthProbe.RunAsync();

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddOrchestrator();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapTasksApi();
app.MapWorkersApi();
app.MapJoinCheckApi();
app.MapOrchestratorOpenApi();
app.Run();
return 0;

/// <summary>Entry point marker for WebApplicationFactory.</summary>
public partial class Program;
