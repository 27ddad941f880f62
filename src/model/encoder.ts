/**
 * The encoder boundary: everything the rest of the service knows about the sequence model.
 *
 * The model is a recurrent encoder run INCREMENTALLY: a call takes only each user's NEW events
 * plus the hidden state stored after their previous call, and returns the new hidden state and
 * the heads. So the cost of an update grows with the number of new events, never with the
 * length of the user's history, and feeding a user's events in k chunks gives the same final
 * outputs as one pass over all of them (tested within 1e-5).
 */

/** One user's new events, already mapped to model indices (see ModelManifest). */
export interface EncoderRow {
  /** Category vocabulary indices, oldest first; length ≥ 1. 0 is padding and never appears here. */
  readonly categoryIndices: readonly number[];
  /** Event-type indices (ModelManifest.eventTypeIndex), parallel to categoryIndices. */
  readonly eventTypeIndices: readonly number[];
  /** Gap feature per event (ModelManifest.gapFeature), parallel to categoryIndices. */
  readonly logGaps: readonly number[];
  /** Hidden state after the user's previous events (hiddenSize floats), or null for a new user. */
  readonly h0: ArrayLike<number> | null;
}

/** Outputs for one row; arrays are views the caller may keep (they are not reused). */
export interface EncoderRowOutput {
  /**
   * New hidden state (hiddenSize floats), the h0 of the user's next call. May be a view of the
   * call's whole output: a caller that keeps it long copies it, or it keeps the batch alive.
   */
  readonly h: Float32Array;
  /** L2-normalised user embedding (embeddingDim floats); a view like `h`. */
  readonly embedding: Float32Array;
  /**
   * Next-category logits over the vocabulary (vocabSize floats, index = vocabulary index);
   * empty unless encode() was asked for them (EncodeOptions.withLogits).
   */
  readonly nextCategoryLogits: Float32Array;
  /** Logit of "no event within the inactivity horizon" (ModelManifest.inactivity.horizonMs). */
  readonly inactivityLogit: number;
}

export interface EncodeOptions {
  /** Also compute the next-category logits (the live processor does not need them; eval does). */
  readonly withLogits?: boolean;
}

export interface Encoder {
  /** Execution provider actually in use ('cuda' or 'cpu'). */
  readonly provider: 'cuda' | 'cpu';
  /**
   * Runs all rows in one model call (rows may have different lengths; padding is handled
   * here). Returns one output per row, in order. Rejects with ProcessorError MODEL_FEED_INVALID
   * when a row is malformed; never logs row contents.
   */
  encode(rows: readonly EncoderRow[], options?: EncodeOptions): Promise<EncoderRowOutput[]>;
  /** Releases the session. Idempotent; encode() after dispose() rejects. */
  dispose(): Promise<void>;
}
