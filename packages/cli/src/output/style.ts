/** ANSI colours only when writing to a terminal (and NO_COLOR is not set). */
export function styler(stream: NodeJS.WriteStream) {
  const on = stream.isTTY === true && !process.env.NO_COLOR;
  const wrap = (code: number) => (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { on, bold: wrap(1), dim: wrap(2), red: wrap(31), green: wrap(32), yellow: wrap(33), cyan: wrap(36) };
}

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => visible(row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell + ' '.repeat(Math.max(0, widths[i]! - visible(cell).length)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function visible(text: string): string {
  // eslint-disable-next-line no-control-regex -- ANSI colour codes are control characters by definition
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

export function micros(value: number): string {
  if (value >= 10_000) return `${(value / 1000).toFixed(0)}ms`;
  if (value >= 100) return `${value.toFixed(0)}µs`;
  return `${value.toFixed(1)}µs`;
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}
