var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(useStandardResilience: false);
var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
