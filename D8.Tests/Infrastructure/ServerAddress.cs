using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace D8.Tests.Infrastructure;

/// <summary>Where an in-process host started on port 0 (<see cref="FreePort.Any"/>) actually listens.</summary>
public static class ServerAddress
{
    /// <summary>The first address the started server of <paramref name="services"/> is bound to (the port the OS gave it).</summary>
    public static Uri Of(IServiceProvider services)
    {
        var addresses = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return new Uri(addresses.FirstOrDefault() ?? throw new InvalidOperationException("The server is not listening (not started?)."));
    }
}
