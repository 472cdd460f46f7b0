using D8.Orchestrator.Tasks;
using D8.Orchestrator.Workers;

if (HealthProbe.IsRequested(args)) return await HealthProbe.RunAsync();

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
