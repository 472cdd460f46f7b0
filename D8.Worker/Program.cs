if (D8.Worker.Health.HealthProbe.IsRequested(args)) return await D8.Worker.Health.HealthProbe.RunAsync();

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(useStandardResilience: false);
var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
return 0;
