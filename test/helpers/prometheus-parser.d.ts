/** The parser ships no types: what the metrics test reads of its answer. */
declare module 'parse-prometheus-text-format' {
  interface Sample {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    sum?: string;
    count?: string;
  }
  export default function parse(text: string): Array<{ name: string; help: string; type: string; metrics: Sample[] }>;
}
