/** The untyped test dependency `parse-prometheus-text-format` (its README's shape). */
declare module 'parse-prometheus-text-format' {
  interface Sample { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }
  interface Family { name: string; help: string; type: string; metrics: Sample[] }
  /** Parses Prometheus's text exposition format into metric families. */
  export default function parsePrometheusTextFormat(text: string): Family[];
}
