using D8.Contracts;

namespace D8.Tests.Infrastructure;

/// <summary>Registering a hand-driven worker in one step.</summary>
public static class WorkerRegistration
{
    /// <summary>Registers with the client's join token and returns the client for the new worker's own calls.</summary>
    public static async Task<WorkerClient> RegisterWorkerAsync(this OrchestratorClient client, RegisterWorkerRequest request, CancellationToken ct = default) =>
        client.AsWorker(await client.RegisterAsync(request, ct));
}
