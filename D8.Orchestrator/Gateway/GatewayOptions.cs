namespace D8.Orchestrator.Gateway;

/// <summary>The OpenAI door's settings (<c>D8_GATEWAY_*</c>).</summary>
/// <param name="MaxWait">
/// How long a <c>/v1/chat/completions</c> call waits for a worker before it answers 429 and cancels its task
/// (<c>D8_GATEWAY_MAX_WAIT_SECONDS</c>, default 600; the <c>x-d8-max-wait-seconds</c> header may shorten it per call).
/// </param>
public sealed record GatewayOptions(TimeSpan MaxWait)
{
    public const string MaxWaitKey = "D8_GATEWAY_MAX_WAIT_SECONDS";

    /// <summary>Reads <c>D8_GATEWAY_*</c>; a bad value is refused through <paramref name="settings"/>.</summary>
    public static GatewayOptions Load(SettingsReader settings) =>
        new(TimeSpan.FromSeconds(settings.Number(MaxWaitKey, 600, 1, 86_400, unit: "seconds")));
}
