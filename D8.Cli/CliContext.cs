using System.CommandLine;
using D8.Cli.Configuration;
using D8.Contracts;
using Spectre.Console;

namespace D8.Cli;

/// <summary>What every command gets: the environment, the output writers, a Spectre console over them, and clients.</summary>
public sealed class CliContext(CliEnvironment env, TextWriter output, TextWriter error, ConnectionOptions connection)
{
    public CliEnvironment Env { get; } = env;
    public TextWriter Out { get; } = output;
    public TextWriter Err { get; } = error;

    /// <summary>Spectre console writing to <see cref="Out"/>; plain text (no ANSI) unless the environment says otherwise.</summary>
    public IAnsiConsole Console { get; } = CreateConsole(env, output);

    public ConnectionOptions Connection { get; } = connection;

    /// <summary>An HTTP client for calls to anything but the orchestrator (Ollama, providers use their own SDKs).</summary>
    public HttpClient CreateHttpClient(Uri? baseAddress, TimeSpan timeout)
    {
        var http = Env.HttpHandlerFactory is { } factory ? new HttpClient(factory(), disposeHandler: true) : new HttpClient();
        http.BaseAddress = baseAddress;
        http.Timeout = timeout;
        http.DefaultRequestHeaders.UserAgent.ParseAdd("d8-cli/" + (typeof(CliContext).Assembly.GetName().Version?.ToString(3) ?? "0"));
        return http;
    }

    /// <summary>The typed orchestrator client for the resolved connection settings.</summary>
    public OrchestratorClient CreateOrchestratorClient(ParseResult parse, TimeSpan? timeout = null)
    {
        var settings = ConnectionSettings.Resolve(parse, Connection, Env);
        return CreateOrchestratorClient(settings.OrchestratorUrl, settings.ApiKey, timeout);
    }

    /// <summary>The typed orchestrator client for an explicit URL.</summary>
    public OrchestratorClient CreateOrchestratorClient(Uri url, string? apiKey, TimeSpan? timeout = null) =>
        // Long-polls wait up to 30 s on the server, so the HTTP timeout must be well above that.
        new(CreateHttpClient(url, timeout ?? TimeSpan.FromSeconds(100))) { ApiKey = apiKey };

    private static IAnsiConsole CreateConsole(CliEnvironment env, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = env.Ansi ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = env.Ansi ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = env.Interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        console.Profile.Width = env.Width;
        return console;
    }
}
