using D8.Orchestrator.Hosting;

if (HealthProbe.IsRequested(args)) return await HealthProbe.RunAsync();

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
