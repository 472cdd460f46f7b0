using System.Diagnostics.Metrics;
using D8.Worker.Configuration;
using D8.Worker.RateLimits;

namespace D8.Worker.Telemetry;

/// <summary>
/// The worker's free-tier budget use, read when a metrics reader collects: d8.worker.budget.used and
/// d8.worker.budget.limit by window (the <see cref="D8.Contracts.BudgetWindow"/> names). Meter "D8.Worker.Budget".
/// </summary>
public sealed class BudgetGauges : IDisposable
{
    public const string MeterName = "D8.Worker.Budget";

    private readonly Meter _meter;

    public BudgetGauges(IMeterFactory meters, ProviderBudget budget, WorkerOptions options)
    {
        _meter = meters.Create(MeterName);
        KeyValuePair<string, object?>[] Tags(string window) =>
            [new("window", window), new("worker", options.WorkerName), new("provider", options.ProviderName)];
        _meter.CreateObservableGauge("d8.worker.budget.used",
            () => budget.Usage().Select(u => new Measurement<long>(u.Used, Tags(u.Window))), "{unit}", "Budget used in the current window");
        _meter.CreateObservableGauge("d8.worker.budget.limit",
            () => budget.Usage().Select(u => new Measurement<long>(u.Limit, Tags(u.Window))), "{unit}", "Budget of the window (D8_RPM, D8_TPM, D8_RPD)");
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
