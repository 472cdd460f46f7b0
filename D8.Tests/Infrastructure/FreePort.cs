using System.Net;
using System.Net.Sockets;

namespace D8.Tests.Infrastructure;

/// <summary>
/// Loopback ports for tests. Nothing here hands out a port to bind later: a port released by the test may be taken by
/// another process before the child binds it. Children bind port 0 (<see cref="Any"/>) and report the port they got
/// (<see cref="ProcessHost.WaitForListeningAsync"/>; in-process hosts <c>ServerAddress.Of</c>). <see cref="Hold"/> keeps
/// a port bound: a port that is certainly taken (start-up refusals) or where certainly nothing answers (connection-failure
/// negatives).
/// </summary>
public static class FreePort
{
    /// <summary>http://127.0.0.1:0 — the OS picks a free port when the server binds; read the one it got afterwards.</summary>
    public const string Any = "http://127.0.0.1:0";

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
