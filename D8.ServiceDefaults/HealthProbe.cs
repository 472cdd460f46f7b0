namespace Microsoft.Extensions.Hosting;

/// <summary>
/// `&lt;app&gt; health`: asks the running app's /health on loopback and exits 0 (healthy) or 1, for compose health checks
/// (the chiseled/runtime-deps images have no curl or shell). Shared by the orchestrator and the worker.
/// </summary>
public static class HealthProbe
{
    /// <summary>True when the process was started as a probe.</summary>
    public static bool IsRequested(string[] args) => args is ["health", ..];

    /// <summary>GET http://127.0.0.1:&lt;port&gt;/health with the port from HTTP_PORTS / ASPNETCORE_HTTP_PORTS (default 8080).</summary>
    public static async Task<int> RunAsync()
    {
        var ports = Environment.GetEnvironmentVariable("HTTP_PORTS") ?? Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS") ?? "8080";
        var port = ports.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "8080";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(4) };
        try
        {
            using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/health")).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            await Console.Error.WriteLineAsync($"health: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
