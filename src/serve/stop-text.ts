// A completion's text as tokens arrive: finds the first stop string (the text ends before it), and
// for streaming says how much text is safe to send, holding back a tail that could still become a
// stop string and an incomplete UTF-8 character (the decoder shows it as U+FFFD until its last byte).
export class StopText {
  private readonly stops: readonly string[];
  /** characters already handed out */
  private sent = 0;

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /** Given the whole decoded text so far: the new text safe to send, and whether a stop string ended it. */
  update(text: string): { delta: string; stopped: boolean; text: string } {
    const cut = this.firstStop(text);
    if (cut >= 0) {
      const final = text.slice(0, cut);
      const delta = final.slice(this.sent);
      this.sent = final.length;
      return { delta, stopped: true, text: final };
    }
    let safe = text.length;
    while (safe > this.sent && text.charCodeAt(safe - 1) === 0xfffd) safe--;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, text.length); k > 0; k--) {
        if (text.endsWith(s.slice(0, k)) && text.length - k < safe) {
          safe = text.length - k;
          break;
        }
      }
    }
    safe = Math.max(safe, this.sent);
    const delta = text.slice(this.sent, safe);
    this.sent = safe;
    return { delta, stopped: false, text };
  }

  /** The rest of the text at the end of generation (everything held back is sent now). */
  flush(text: string): string {
    const delta = text.slice(this.sent);
    this.sent = text.length;
    return delta;
  }

  private firstStop(text: string): number {
    let best = -1;
    for (const s of this.stops) {
      const i = text.indexOf(s);
      if (i >= 0 && (best < 0 || i < best)) best = i;
    }
    return best;
  }
}
