namespace Microsoft.Extensions.Hosting;

/// <summary>
/// `&lt;app&gt; health`: asks the running app's /health on loopback and exits 0 (healthy) or 1, for compose health checks
/// (the chiseled/runtime-deps images have no curl or shell). Shared by the orchestrator and the worker.
/// </summary>
public static class HealthProbe
{
    /// <summary>True when the process was started as a probe.</summary>
    public static bool IsRequested(string[] args) => args is ["health", ..];

    /// <summary>
    /// GET /health on 127.0.0.1 with the port from HTTP_PORTS / ASPNETCORE_HTTP_PORTS (default 8080). With
    /// <paramref name="tryHttps"/> (the orchestrator serves HTTPS when TLS is on) https is tried first, then http.
    /// The certificate is not checked: the probe sends no secret and talks to its own container over loopback.
    /// </summary>
    public static async Task<int> RunAsync(bool tryHttps = false)
    {
        var ports = Environment.GetEnvironmentVariable("HTTP_PORTS") ?? Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS") ?? "8080";
        var port = ports.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "8080";
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(4) };
        string? error = null;
        foreach (var scheme in tryHttps ? new[] { "https", "http" } : ["http"])
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"{scheme}://127.0.0.1:{port}/health")).ConfigureAwait(false);
                return response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException)
            {
                error = ex.Message;
            }
        }
        await Console.Error.WriteLineAsync($"health: {error}").ConfigureAwait(false);
        return 1;
    }
}
