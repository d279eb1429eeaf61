import { CUT_MARK, MAX_LINE_CHARS, RESET, coloursInEffect, terminalPieces, visibleText } from '../domain/terminal-text.js';

/** The classic builder prints " ---> <id>" for the image of each step it finished. */
const STEP_IMAGE = /^ ---> ([0-9a-f]{12,64})$/;
const FROM_STEP = /^Step \d+\/\d+ : FROM /i;

/**
 * Reads the classic builder's output as it streams: whole lines only (a line split across two
 * events is joined first, so a secret or an escape is never cut in halves), and the image each
 * step made, stage by stage. Terminal colours are kept, each line made whole by itself: it
 * starts with the colours in effect from the lines before and ends with a reset if any is still
 * on. The classic builder wraps what a step writes to stderr in red (ESC[91m ... ESC[0m, the
 * reset at the start of the next event): each of those lines is red alone, and an interleaved
 * line of Pilot's, or the pusher's terminal after the push, never is. A line with nothing to read
 * (escapes only) is not shown; its colours carry to the next.
 */
export class BuildProgress {
  private pending = '';
  /** The line being read was cut: the rest of it, up to its newline, is dropped. */
  private cutting = false;
  /** Per stage (one per FROM), the images of its finished steps; a stage's first is its base. */
  private readonly stages: string[][] = [];
  private fromStep = false;
  private readonly baseImages = new Set<string>();
  /** The colour escapes in effect at the end of the lines read so far. */
  private colours = '';

  constructor(private readonly onLine: (line: string) => void) {}

  /** Takes a chunk of output; calls `onLine` for each line it completes. */
  push(text: string): void {
    const lines = text.split('\n');
    const last = lines.pop() ?? '';
    for (const line of lines) {
      this.append(line);
      if (!this.cutting) this.take(this.pending);
      this.pending = '';
      this.cutting = false;
    }
    this.append(last);
  }

  /**
   * Adds to the line being read, up to MAX_LINE_CHARS: a longer line is taken there, marked as
   * cut (the masker then also masks the start of a secret at its end), and the rest of it
   * dropped up to its newline. A build printing one endless line costs neither memory nor time.
   */
  private append(text: string): void {
    if (this.cutting) return;
    this.pending += text;
    if (this.pending.length <= MAX_LINE_CHARS) return;
    this.take(this.pending.slice(0, MAX_LINE_CHARS) + CUT_MARK);
    this.pending = '';
    this.cutting = true;
  }

  /** The output ended: the last line, even without its newline. */
  end(): void {
    if (this.pending !== '' && !this.cutting) this.take(this.pending);
    this.pending = '';
    this.cutting = false;
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
    const line = visibleText(raw).trimEnd();
    const stepImage = STEP_IMAGE.exec(line)?.[1];
    if (stepImage) {
      if (this.fromStep) this.baseImages.add(stepImage);
      this.fromStep = false;
      this.stages.at(-1)?.push(stepImage);
    } else if (FROM_STEP.test(line)) {
      this.fromStep = true;
      this.stages.push([]);
    }
    const { leading, rest } = leadingEscapes(raw);
    // The colours its text starts in: those carried over, changed by the escapes it starts with.
    const opening = coloursInEffect(this.colours + leading);
    this.colours = coloursInEffect(opening + rest);
    if (line.trim() !== '') this.onLine(`${opening}${rest.trimEnd()}${this.colours === '' ? '' : RESET}`);
  }
}

/** The escapes a line starts with, before its first text, and the rest of it. */
function leadingEscapes(raw: string): { leading: string; rest: string } {
  const pieces = terminalPieces(raw);
  const first = pieces.findIndex((piece) => 'text' in piece);
  const leading = pieces.slice(0, first < 0 ? pieces.length : first).map((piece) => ('escape' in piece ? piece.escape : '')).join('');
  return { leading, rest: raw.slice(leading.length) };
}
