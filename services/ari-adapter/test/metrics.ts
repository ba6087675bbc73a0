/** One metric from the adapter's `/metrics`, summed over the series whose labels contain `labels`. */
export async function metricSum(httpPort: number, name: string, labels = ''): Promise<number> {
  const lines = (await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()).split('\n');
  return lines
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => line.includes(labels))
    .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
