using System.Globalization;

namespace D8.Orchestrator.Gateway;

/// <summary>The OpenAI door's settings (<c>D8_GATEWAY_*</c>).</summary>
/// <param name="MaxWait">
/// How long a <c>/v1/chat/completions</c> call waits for a worker before it answers 429 and cancels its task
/// (<c>D8_GATEWAY_MAX_WAIT_SECONDS</c>, default 600; the <c>x-d8-max-wait-seconds</c> header may shorten it per call).
/// </param>
public sealed record GatewayOptions(TimeSpan MaxWait)
{
    public const string MaxWaitKey = "D8_GATEWAY_MAX_WAIT_SECONDS";

    public static GatewayOptions Load(IConfiguration config, ICollection<string> errors)
    {
        var raw = config[MaxWaitKey];
        var seconds = 600d;
        if (!string.IsNullOrWhiteSpace(raw)
            && (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds)
                || double.IsNaN(seconds) || seconds < 1 || seconds > 86_400))
        {
            errors.Add($"{MaxWaitKey}='{raw}' must be a number of seconds between 1 and 86400.");
            seconds = 600;
        }
        return new GatewayOptions(TimeSpan.FromSeconds(seconds));
    }
}
