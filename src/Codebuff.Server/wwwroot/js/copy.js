// Copy buttons: <button type="button" data-copy="text">. One listener on the document, so pages reached by
// enhanced navigation work too; without this script the text stays visible beside the button to copy by hand.
if (!window.codebuffCopy) {
  window.codebuffCopy = true;
  document.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-copy]');
    if (!button) return;
    const label = button.dataset.label || (button.dataset.label = button.textContent);
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select and copy the text';
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
}
