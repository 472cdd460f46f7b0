using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Serialization;

namespace D8.Emulators.Server;

/// <summary>The subset of the ollama CLI the compose file runs (list, show, pull), against $OLLAMA_HOST.</summary>
internal static class OllamaCli
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var host = Environment.GetEnvironmentVariable("OLLAMA_HOST") is { Length: > 0 } h ? h : "127.0.0.1:11434";
        using var http = new HttpClient { BaseAddress = new Uri(host.Contains("://", StringComparison.Ordinal) ? host : "http://" + host), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            switch (args)
            {
                case ["list"]:
                    var tags = await http.GetStringAsync(new Uri("/api/tags", UriKind.Relative), ct);
                    Console.WriteLine(tags);
                    return 0;
                case ["show", var model]:
                    using (var shown = await http.PostAsJsonAsync("/api/show", new ModelRequest(model, null), CliJson.Default.ModelRequest, ct))
                    {
                        return shown.IsSuccessStatusCode ? 0 : 1;
                    }
                case ["pull", var model]:
                    using (var pulled = await http.PostAsJsonAsync("/api/pull", new ModelRequest(model, false), CliJson.Default.ModelRequest, ct))
                    {
                        Console.WriteLine(pulled.IsSuccessStatusCode ? "success" : $"pull failed: {(int)pulled.StatusCode}");
                        return pulled.IsSuccessStatusCode ? 0 : 1;
                    }
                default:
                    Console.Error.WriteLine("usage: ollama list | show MODEL | pull MODEL");
                    return 2;
            }
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"ollama: {e.Message}");
            return 1;
        }
    }

    /// <summary>Exit 0 when a TCP connection to 127.0.0.1:<paramref name="port"/> opens within 5 s.</summary>
    public static async Task<int> ProbeAsync(int port, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            return 0;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            Console.Error.WriteLine($"health: {e.Message}");
            return 1;
        }
    }
}

/// <summary>Body of /api/show and /api/pull.</summary>
internal sealed record ModelRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("stream")] bool? Stream);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ModelRequest))]
internal sealed partial class CliJson : JsonSerializerContext;
