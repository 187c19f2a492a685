return await Codebuff.Server.Hosting.Entry.RunAsync(args);
