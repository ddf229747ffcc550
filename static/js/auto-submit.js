// Submits the forms marked data-auto-submit (the SAML HTTP-POST binding); without JavaScript the
// person presses the button.
document.querySelectorAll('form[data-auto-submit="true"]').forEach(function (form) {
  form.submit();
});
