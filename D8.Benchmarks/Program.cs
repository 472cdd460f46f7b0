Console.WriteLine("usage: dotnet run -c Release --project D8.Benchmarks -- dispatch");
return 0;
