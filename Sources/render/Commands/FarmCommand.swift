import ArgumentParser
import Dream
import Foundation

struct FarmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "farm",
        abstract: "Render a video as chunks on a cluster scheduler.",
        subcommands: [Slurm.self])

    struct Slurm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write (and with --submit, submit) a Slurm job array of `render video --chunk` plus a join job.",
            discussion: """
                Writes OUT.farm/chunks.sbatch (a job array: task K runs `render video IN -o OUT --chunk K/N` \
                with the options after --), OUT.farm/join.sbatch (`render join OUT`, submitted with \
                --dependency=afterok on the array) and OUT.farm/indexed-job.yaml (the same chunking as a \
                Kubernetes Indexed Job, JOB_COMPLETION_INDEX as K). Every node must see IN, OUT's folder and \
                the render executable at the same paths (a shared filesystem). A requeued or failed task \
                run again resumes its chunk from its checkpoint.
                """)

        @Argument(help: "Input video.") var input: String
        @Option(name: .shortAndLong, help: "Output video (the joined render).") var output: String
        @Option(help: "Number of chunks (array tasks).") var chunks: Int
        @Option(help: "Seconds dreamed before each chunk to build up the carried dream.") var warmup: Double = Chunk.defaultWarmup
        @Option(name: .customLong("cpus-per-task"), help: "CPUs per task.") var cpus: Int = 2
        @Option(help: "Memory per task (Slurm syntax, e.g. 4G).") var mem: String = "4G"
        @Option(help: "Time limit per task (Slurm syntax).") var time: String = "12:00:00"
        @Option(help: "Slurm partition (default: the cluster's default).") var partition: String?
        @Option(help: "The render executable the nodes run (default: this one).") var render: String?
        @Flag(help: "Submit the array and the join job with sbatch.") var submit = false
        @Flag(help: "With --submit: wait until the join job has finished.") var wait = false
        @Flag(help: "Replace an existing output.") var overwrite = false
        @Argument(parsing: .postTerminator, help: "Options for `render video` (after --), e.g. -- --preset video --width 480.")
        var videoOptions: [String] = []

        func validate() throws {
            guard chunks >= 1, chunks <= 10_000 else { throw ValidationError("--chunks must be 1...10000, got \(chunks)") }
            _ = try Chunk(parsing: "0/\(chunks)", warmup: warmup)
            if URL(fileURLWithPath: output).pathExtension.lowercased() == "png" {
                throw ValidationError("\(output): a farm joins video parts; render PNG frames with `render video` in one run")
            }
            for banned in ["-o", "--output", "--chunk", "--resume", "--warmup"] where videoOptions.contains(banned) {
                throw ValidationError("\(banned) after -- is set by the farm itself")
            }
        }

        func run() throws {
            let fm = FileManager.default
            let out = URL(fileURLWithPath: output).standardizedFileURL.path
            let source = URL(fileURLWithPath: input).standardizedFileURL.path
            guard fm.fileExists(atPath: source) else { throw RenderError.file(path: input, problem: "no such file") }
            if fm.fileExists(atPath: out) && !overwrite {
                throw RenderError.file(path: output, problem: "already exists (use --overwrite to replace it)")
            }
            let executable = render ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let plan = FarmPlan(
                render: executable, input: source, output: out, chunks: chunks, warmup: warmup,
                videoOptions: videoOptions, cpus: cpus, mem: mem, time: time, partition: partition)
            let folder = out + ".farm"
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: Chunk.partsFolder(of: out), withIntermediateDirectories: true)
            try plan.chunksScript.write(toFile: folder + "/chunks.sbatch", atomically: true, encoding: .utf8)
            try plan.joinScript.write(toFile: folder + "/join.sbatch", atomically: true, encoding: .utf8)
            try plan.indexedJob.write(toFile: folder + "/indexed-job.yaml", atomically: true, encoding: .utf8)
            print("wrote \(folder)/chunks.sbatch (\(chunks) array tasks), \(folder)/join.sbatch, \(folder)/indexed-job.yaml")
            guard submit else {
                print("submit with: id=$(sbatch --parsable \(folder)/chunks.sbatch) && sbatch --dependency=afterok:${id%%;*} \(folder)/join.sbatch")
                return
            }
            let array = try sbatch(["--parsable", folder + "/chunks.sbatch"])
            print("submitted the chunks as job array \(array)")
            let join = try sbatch(["--parsable", "--dependency=afterok:\(array)"] + (wait ? ["--wait"] : []) + [folder + "/join.sbatch"])
            print(wait ? "join job \(join) finished: \(out)" : "submitted the join as job \(join) (after \(array))")
        }
    }
}

/// Runs sbatch; returns the job id it prints (`--parsable`: "ID" or "ID;cluster").
private func sbatch(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sbatch"] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do { try process.run() } catch {
        throw RenderError.program(name: "sbatch", problem: "cannot run it (\(error.localizedDescription)); is Slurm installed?")
    }
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let problem = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw RenderError.program(
            name: "sbatch \(arguments.last ?? "")",
            problem: problem.split(separator: "\n").first.map(String.init) ?? "exit status \(process.terminationStatus)")
    }
    let id = text.split(whereSeparator: { $0 == "\n" || $0 == ";" }).last { Int($0) != nil }.map(String.init)
    guard let id else { throw RenderError.program(name: "sbatch \(arguments.last ?? "")", problem: "no job id in its output '\(text)'") }
    return id
}

/// The scheduler files of a chunked render.
struct FarmPlan {
    var render: String
    var input: String
    var output: String
    var chunks: Int
    var warmup: Double
    var videoOptions: [String]
    var cpus: Int
    var mem: String
    var time: String
    var partition: String?

    private var name: String { "reverie-" + URL(fileURLWithPath: output).deletingPathExtension().lastPathComponent }

    /// `render video` for chunk `index` (a shell word, e.g. "$SLURM_ARRAY_TASK_ID").
    func renderCommand(index: String) -> String {
        ([render, "video", input, "-o", output].map(shellQuoted) + ["--chunk", "\"\(index)/\(chunks)\"", "--warmup", "\(warmup)", "--quiet"]
            + videoOptions.map(shellQuoted)).joined(separator: " ")
    }

    var chunksScript: String {
        """
        #!/bin/bash
        #SBATCH --job-name=\(name)
        #SBATCH --array=0-\(chunks - 1)
        #SBATCH --cpus-per-task=\(cpus)
        #SBATCH --mem=\(mem)
        #SBATCH --time=\(time)
        #SBATCH --requeue
        #SBATCH --output=\(output).farm/chunk-%a.log
        \(partition.map { "#SBATCH --partition=\($0)\n" } ?? "")
        # One chunk of \(chunks): a rerun (requeue, retry) resumes from the chunk's checkpoint.
        set -euo pipefail
        part=\(shellQuoted(Chunk.partsFolder(of: output)))/part-${SLURM_ARRAY_TASK_ID}-of-\(chunks).\(URL(fileURLWithPath: output).pathExtension)
        resume=""
        if [ -e "$part.reverie-resume/state.json" ]; then resume="--resume"; fi
        exec \(renderCommand(index: "${SLURM_ARRAY_TASK_ID}")) $resume

        """
    }

    var joinScript: String {
        """
        #!/bin/bash
        #SBATCH --job-name=\(name)-join
        #SBATCH --cpus-per-task=1
        #SBATCH --mem=1G
        #SBATCH --time=01:00:00
        #SBATCH --output=\(output).farm/join.log
        \(partition.map { "#SBATCH --partition=\($0)\n" } ?? "")
        set -euo pipefail
        exec \(shellQuoted(render)) join \(shellQuoted(output)) --overwrite

        """
    }

    /// The same chunking as a Kubernetes Indexed Job (the join runs after it completes).
    var indexedJob: String {
        """
        # The chunks of \(output) as a Kubernetes Indexed Job; once it completes, run:
        #   \(shellQuoted(render)) join \(shellQuoted(output))
        # The image must hold `render`; the volume must show IN and OUT's folder at the same paths.
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: \(name.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined())
        spec:
          completionMode: Indexed
          completions: \(chunks)
          parallelism: \(chunks)
          backoffLimitPerIndex: 3
          template:
            spec:
              restartPolicy: OnFailure
              containers:
              - name: render
                image: reverie:latest
                command: ["/bin/sh", "-c"]
                args:
                - >-
                  part=\(shellQuoted(Chunk.partsFolder(of: output)))/part-${JOB_COMPLETION_INDEX}-of-\(chunks).\(URL(fileURLWithPath: output).pathExtension);
                  resume=""; if [ -e "$part.reverie-resume/state.json" ]; then resume="--resume"; fi;
                  exec \(renderCommand(index: "${JOB_COMPLETION_INDEX}")) $resume
                resources:
                  requests: {cpu: "\(cpus)", memory: "\(mem)i"}
                volumeMounts:
                - {name: shared, mountPath: /shared}
              volumes:
              - name: shared
                persistentVolumeClaim: {claimName: reverie-shared}

        """
    }
}

/// A word for a POSIX shell: single-quoted unless it is plainly safe.
func shellQuoted(_ word: String) -> String {
    if !word.isEmpty && word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
