using D8.Worker.Hosting;

var builder = WebApplication.CreateBuilder(args);
if (!builder.AddWorker())
{
    return 2;
}
var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
return 0;
