// The Grafana macro/interpolation helper lives in bench/ (the dashboard bench runs the provisioned SQL
// with it, and bench/ is what the server build compiles); the tests import it from here.
export * from '../../bench/grafana-macros';
