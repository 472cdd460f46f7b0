using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace D8.Orchestrator.Security;

/// <summary>
/// The IPv6 prefixes this host is on (its interfaces' unicast prefixes, link-local fe80::/64 included). A client inside
/// one of them is a neighbour on the same link, so it is told apart by its full address rather than its /64.
/// </summary>
public static class OnLinkPrefixes
{
    /// <summary>Reads the prefixes now; an empty list when the interfaces cannot be read.</summary>
    public static IReadOnlyList<IPNetwork> Read()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Where(a => a.Address.AddressFamily == AddressFamily.InterNetworkV6 && !IPAddress.IsLoopback(a.Address))
                .Select(a => Network(a.Address, a.PrefixLength))
                .Distinct()
                .ToArray();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }

    /// <summary>The network of <paramref name="address"/> with <paramref name="length"/> prefix bits (host bits cleared, scope dropped).</summary>
    public static IPNetwork Network(IPAddress address, int length)
    {
        var bytes = address.GetAddressBytes();
        length = Math.Clamp(length, 0, bytes.Length * 8);
        for (var bit = length; bit < bytes.Length * 8; bit++) bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPNetwork(new IPAddress(bytes), length);
    }
}
