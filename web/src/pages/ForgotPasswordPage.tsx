export function ForgotPasswordPage() {
  return (
    <section className="card narrow">
      <h1>Forgot your password</h1>
    </section>
  );
}
