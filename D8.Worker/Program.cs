using D8.Worker.Hosting;

if (D8.Worker.Health.HealthProbe.IsRequested(args)) return await D8.Worker.Health.HealthProbe.RunAsync();

var builder = WebApplication.CreateBuilder(args);
if (!builder.AddWorker())
{
    return 2;
}
var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
return 0;
