using System.Text;
using D8.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace D8.Tests.Security;

/// <summary>
/// An OTLP/HTTP (protobuf) endpoint on a loopback port of its own choosing that keeps every export it receives. Protobuf stores string
/// attributes as plain UTF-8, so searching the raw payloads finds a secret in any span, metric or log attribute.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(string Signal, byte[] Body)> _exports = [];
    private readonly Lock _gate = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The port it got (it binds port 0; set at start).</summary>
    public int Port { get; private set; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(FreePort.Any);
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            lock (receiver._gate) receiver._exports.Add((signal, body.ToArray()));
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        receiver.Port = ServerAddress.Of(app.Services).Port;
        return receiver;
    }

    /// <summary>The signals (traces, metrics, logs) whose exports mention <paramref name="serviceName"/>.</summary>
    public IReadOnlySet<string> SignalsFrom(string serviceName)
    {
        lock (_gate)
        {
            return _exports.Where(e => Text(e.Body).Contains(serviceName, StringComparison.Ordinal)).Select(e => e.Signal).ToHashSet();
        }
    }

    /// <summary>Every export as text (UTF-8 decoded; binary fields become replacement characters).</summary>
    public IReadOnlyList<(string Signal, string Text)> Exports
    {
        get { lock (_gate) return _exports.Select(e => (e.Signal, Text(e.Body))).ToList(); }
    }

    private static string Text(byte[] body) => Encoding.UTF8.GetString(body);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
