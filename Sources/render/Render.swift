import ArgumentParser

@main
struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Reverie: dream videos, zoom loops and stills with DeepDream.",
        version: "0.1.0",
        subcommands: [
            VideoCommand.self, ZoomCommand.self, ImageCommand.self, LayersCommand.self, PresetsCommand.self,
            ProbeCommand.self, ModelCommand.self, ScoreCommand.self,
        ])
}
