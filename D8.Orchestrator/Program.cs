var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();

/// <summary>Entry point marker for WebApplicationFactory.</summary>
public partial class Program;
