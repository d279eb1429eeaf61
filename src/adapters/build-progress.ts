import { stripVTControlCharacters } from 'node:util';

/** The classic builder prints " ---> <id>" for the image of each step it finished. */
const STEP_IMAGE = /^ ---> ([0-9a-f]{12,64})$/;
const FROM_STEP = /^Step \d+\/\d+ : FROM /i;

/**
 * Reads the classic builder's output as it streams: whole lines only (a line split across two
 * events is joined first, so a secret is never shown in halves that no mask matches), and the
 * image each step made, stage by stage. Terminal escapes are dropped: the classic builder wraps
 * every line a step writes to stderr in red (ESC[91m ... ESC[0m), which is no error, would split a
 * secret for the masks, and reaches git clients that show it as "[91m" text.
 */
export class BuildProgress {
  private pending = '';
  /** Per stage (one per FROM), the images of its finished steps; a stage's first is its base. */
  private readonly stages: string[][] = [];
  private fromStep = false;
  private readonly baseImages = new Set<string>();

  constructor(private readonly onLine: (line: string) => void) {}

  /** Takes a chunk of output; calls `onLine` for each line it completes. */
  push(text: string): void {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.take(line);
  }

  /** The output ended: the last line, even without its newline. */
  end(): void {
    if (this.pending !== '') this.take(this.pending);
    this.pending = '';
  }

  /** The image of the last step that finished and is the build's own (not a FROM image). */
  get lastStepImage(): string | undefined {
    const last = this.stages.at(-1)?.at(-1);
    return last !== undefined && !this.baseImages.has(last) ? last : undefined;
  }

  /**
   * The last image of every stage that finished before the one the build ended in (a
   * multi-stage build's earlier stages: nothing tags them, so they would dangle); undefined for
   * a stage that made no image of its own.
   */
  get earlierStageImages(): (string | undefined)[] {
    return this.stages.slice(0, -1).map((images) => {
      const last = images.at(-1);
      return last !== undefined && !this.baseImages.has(last) ? last : undefined;
    });
  }

  private take(raw: string): void {
    const line = stripVTControlCharacters(raw).trimEnd();
    const stepImage = STEP_IMAGE.exec(line)?.[1];
    if (stepImage) {
      if (this.fromStep) this.baseImages.add(stepImage);
      this.fromStep = false;
      this.stages.at(-1)?.push(stepImage);
    } else if (FROM_STEP.test(line)) {
      this.fromStep = true;
      this.stages.push([]);
    }
    if (line.trim() !== '') this.onLine(line);
  }
}
