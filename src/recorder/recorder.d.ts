import type { Recorder, RecorderOptions } from './types';
export declare function createRecorder(options?: RecorderOptions): Recorder;
