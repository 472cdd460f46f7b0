using System.Net;
using System.Net.Sockets;

namespace D8.Tests.Infrastructure;

/// <summary>
/// Loopback ports for tests. <see cref="Next"/> asks the OS for a port nobody uses right now and releases it: another
/// process may take it before the caller binds it, so prefer letting a child bind port 0 and report its port
/// (<see cref="ProcessHost.WaitForListeningAsync"/>). <see cref="Hold"/> keeps the port bound: a port that is certainly
/// taken (start-up refusals) or where certainly nothing answers HTTP (connection-failure negatives).
/// </summary>
public static class FreePort
{
    /// <summary>A port free at the moment of the call (released at once).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// A loopback port held until the returned handle is disposed. Not listening (default): a connection to it is
    /// refused at once. Listening: the port is certainly in use, as by another server.
    /// </summary>
    public static HeldPort Hold(bool listen = false)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        if (listen) socket.Listen(1);
        return new HeldPort(socket);
    }
}

/// <summary>A loopback port kept bound by this process; nobody else can bind it while this lives.</summary>
public sealed class HeldPort(Socket socket) : IDisposable
{
    public int Port { get; } = ((IPEndPoint)socket.LocalEndPoint!).Port;

    /// <summary>http://127.0.0.1:port</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    public void Dispose() => socket.Dispose();
}
