export function RecoverPage() {
  return (
    <section className="card narrow">
      <h1>Recover your account</h1>
    </section>
  );
}
