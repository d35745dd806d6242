export function WelcomePage() {
  return (
    <section className="card narrow">
      <h1>Welcome</h1>
    </section>
  );
}
