/** What every benchmark section gets: the model under test, the audio, the run counts, a logger. */
import type { WhisperModel } from '../model.js';
import type { Utterance } from './corpus.js';

export interface BenchContext {
  size: string;
  modelPath: string;
  gpu: 'auto' | 'cuda' | 'cpu';
  threads: number | undefined;
  runs: number;
  quick: boolean;
  jfk: Utterance;
  /** a warm model with one state, shared by the sections that need one */
  model: WhisperModel;
  whisperCli: string | undefined;
  log: (line: string) => void;
}
