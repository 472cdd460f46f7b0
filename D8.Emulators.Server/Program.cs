using System.Runtime.InteropServices;
using D8.Emulators.Server;

// d8-emulators: one provider emulator per container (see docs/testing.md, Docker tests).
//   ollama [PORT]              Ollama API on 0.0.0.0:PORT (11434); models kept in /root/.ollama
//   openai [PORT] [NAME] [KEY] OpenAI-compatible API (Groq, Gemini, …) on 0.0.0.0:PORT (8080)
//   health PORT                exit 0 when something listens on 127.0.0.1:PORT (compose health check)
//   ollama-cli list|show M|pull M   the ollama CLI subset the compose file uses, against $OLLAMA_HOST
using var stop = new CancellationTokenSource();
// SIGTERM (docker stop) and SIGINT end the emulator cleanly, so the Ollama emulator saves its models.
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
return args switch
{
    ["ollama", .. var rest] => await EmulatorProcess.RunOllamaAsync(Port(rest, 0, 11434), stop.Token),
    ["openai", .. var rest] => await EmulatorProcess.RunOpenAiAsync(Port(rest, 0, 8080), rest.ElementAtOrDefault(1) ?? "openai-emulator", rest.ElementAtOrDefault(2), stop.Token),
    ["health", var port] => await OllamaCli.ProbeAsync(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), stop.Token),
    ["ollama-cli", .. var rest] => await OllamaCli.RunAsync(rest, stop.Token),
    _ => Usage(),
};

static int Port(string[] rest, int index, int fallback) =>
    rest.Length > index && int.TryParse(rest[index], out var p) ? p : fallback;

static int Usage()
{
    Console.Error.WriteLine("usage: D8.Emulators.Server ollama [PORT] | openai [PORT] [NAME] [API_KEY] | health PORT | ollama-cli list|show MODEL|pull MODEL");
    return 2;
}
