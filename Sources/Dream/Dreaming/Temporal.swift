/// Temporal coherence for videos: each frame after the first starts from the current source
/// frame plus the dream of the previous frame carried forward along the footage's motion.
///
///     start_t = source_t + blend · reliable · warp(dream_{t−1} − source_{t−1}, flow t→t−1)
///
/// Only the hallucination (dream − source) is carried, never old footage, so moving content
/// does not leave ghosts; `blend` < 1 decays it, so carried detail cannot accumulate and
/// brighten frame after frame. Where the forward-backward flow check fails (occluded or newly
/// revealed areas) nothing is carried: the fresh frame is dreamed from scratch there.
/// blend = 0: every frame dreamed independently (flickers). blend = 1: the dream is carried whole.
/// Without flow the previous dream is carried in place (plain blending).
public struct TemporalCarry: Sendable {
    /// Share of the previous frame's hallucination carried, 0...1 (see the formula above).
    public var blend: Float
    /// Carry along the footage's optical flow, with its occlusion check; false: carry in place.
    public var useFlow: Bool
    /// How the motion is estimated when `useFlow` and the caller gives none.
    public var flowSettings: FlowSettings

    /// A carry with these settings; flow estimated with the default `FlowSettings` unless given.
    public init(blend: Float, useFlow: Bool, flowSettings: FlowSettings = FlowSettings()) {
        self.blend = blend; self.useFlow = useFlow; self.flowSettings = flowSettings
    }

    /// The picture frame t's dream starts from. All pictures (1, 3, H, W) in [0, 1]. `motion`
    /// (previous → current source) is estimated here unless the caller already has it.
    public func start(source: Tensor, previousSource: Tensor, previousDream: Tensor, motion known: FrameMotion? = nil) -> Tensor {
        var detail = previousDream
        for i in detail.data.indices { detail.data[i] -= previousSource.data[i] }
        var reliable: [Bool]? = nil
        if useFlow {
            let motion = known ?? OpticalFlow.motion(from: previousSource, to: source, settings: flowSettings)
            detail = warp(detail, along: motion.backward)
            reliable = motion.reliable
        }
        var out = source
        let plane = source.shape[2] * source.shape[3]
        for c in 0..<source.shape[1] {
            for p in 0..<plane where reliable?[p] ?? true {
                let i = c * plane + p
                out.data[i] = min(max(source.data[i] + blend * detail.data[i], 0), 1)
            }
        }
        return out
    }
}
